// `curate init`'s choices: which types it proposes without a terminal (never all of them),
// which look like internal work, which statuses publish, and the prompt loop that checks
// each answer as it is given.
import { describe, expect, it } from 'vitest';
import { askNames, proposePublishedStatuses, proposeTypes, resolveName, workTypeReason, type Prompter } from '../../src/cli/commands/init.js';

const named = (...names: string[]): { name: string; id: number }[] => names.map((name, i) => ({ name, id: i + 1 }));

describe('init: types proposed without a terminal', () => {
  it('proposes content-like names with the word that justified each, never work-like ones', () => {
    const types = named('Task', 'Milestone', 'Phase', 'Bug', 'Feature', 'Epic', 'User story', 'News', 'Curated Content', 'Blog Post', 'Page', 'Release notes', 'Summary task');
    expect(proposeTypes(types)).toEqual([
      { name: 'News', because: 'News' },
      { name: 'Curated Content', because: 'Content' },
      { name: 'Blog Post', because: 'Blog' },
      { name: 'Page', because: 'Page' },
      { name: 'Release notes', because: 'Release' },
    ]);
  });
  it('proposes nothing on a stock OpenProject type list (the caller then requires --type)', () => {
    expect(proposeTypes(named('Task', 'Milestone', 'Phase', 'Feature', 'Epic', 'User story', 'Bug'))).toEqual([]);
  });
  it.each([
    ['Bug', 'Bug'],
    ['Task', 'Task'],
    ['Milestone', 'Milestone'],
    ['Phase', 'Phase'],
    ['Sub-task', 'Sub-task'],
    ['News', null],
    ['Curated Event', null],
  ])('workTypeReason(%j) = %j', (name, reason) => {
    expect(workTypeReason(name)).toBe(reason);
  });
});

describe('init: published statuses', () => {
  it('takes statuses named like publishing', () => {
    expect(proposePublishedStatuses([{ name: 'New' }, { name: 'Published' }, { name: 'Closed', isClosed: true }, { name: 'Rejected', isClosed: true }])).toEqual(['Published', 'Closed']);
  });
  it('falls back to closed statuses that are not rejections', () => {
    expect(proposePublishedStatuses([{ name: 'New' }, { name: 'Finished', isClosed: true }, { name: 'Rejected', isClosed: true }, { name: 'Cancelled', isClosed: true }])).toEqual(['Finished']);
  });
});

describe('init: names', () => {
  const types = named('News', 'Curated Content', 'Bug');
  it.each([
    ['News', 'News'],
    ['news', 'News'],
    ['CURATED content', 'Curated Content'],
    ['3', 'Bug'],
    ['newz', null],
  ])('resolveName(%j) = %j', (answer, name) => {
    expect(resolveName(answer, types)).toBe(name);
  });
  it('resolves projects to their identifier', () => {
    expect(resolveName('Docs', [{ name: 'Documentation', id: 1, identifier: 'docs' }])).toBe('docs');
    expect(resolveName('Documentation', [{ name: 'Documentation', id: 1, identifier: 'docs' }])).toBe('docs');
  });
});

function scripted(answers: string[]): Prompter & { said: string[]; asked: string[] } {
  const said: string[] = [];
  const asked: string[] = [];
  return {
    said,
    asked,
    ask: async (question) => {
      asked.push(question);
      const a = answers.shift();
      if (a === undefined) throw new Error(`no scripted answer for ${question}`);
      return a;
    },
    say: (line) => said.push(line),
  };
}

describe('init: the prompt checks each answer as it is given', () => {
  const types = named('News', 'Curated Content', 'Bug', 'Task');
  it('asks again at the same prompt with "did you mean" on an unknown name, case-insensitively', async () => {
    const p = scripted(['newz', 'news, curated content']);
    expect(await askNames(p, { question: 'Types', what: 'type', candidates: types, fallback: ['News'] })).toEqual(['News', 'Curated Content']);
    expect(p.said).toEqual(['  no type "newz" (did you mean "News"?)']);
    expect(p.asked).toEqual(['Types [News]: ', 'Types [News]: ']);
  });
  it('takes the proposal on an empty answer and insists on at least one name', async () => {
    expect(await askNames(scripted(['']), { question: 'Types', what: 'type', candidates: types, fallback: ['News'] })).toEqual(['News']);
    const p = scripted(['', ' , ', 'Bug']);
    expect(await askNames(p, { question: 'Types', what: 'type', candidates: types, fallback: [] })).toEqual(['Bug']);
    expect(p.said).toEqual(['  choose at least one type', '  choose at least one type']);
  });
  it('lets a confirmation veto work-like types', async () => {
    const p = scripted(['bug, news', 'task']);
    const confirm = async (name: string): Promise<boolean> => name === 'News';
    expect(await askNames(p, { question: 'Types', what: 'type', candidates: types, fallback: [], confirm })).toEqual(['News']);
    const q = scripted(['task', 'news']);
    expect(await askNames(q, { question: 'Types', what: 'type', candidates: types, fallback: [], confirm })).toEqual(['News']);
    expect(q.said).toEqual(['  choose at least one type']);
  });
});
