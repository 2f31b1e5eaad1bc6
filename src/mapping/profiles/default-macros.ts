// Attribute macros (`workPackageValue:subject`, `workPackageLabel:1234:status`,
// `projectValue:name`; matchers/attribute_macros.rb): OpenProject fills them in the browser
// with the attribute's value or label. The page shows the value when the work package being
// mapped (or its project) carries it, the attribute's label for `…Label:` macros, and
// otherwise names what OpenProject would show there, linked to the work package — never the
// macro itself. Another work package's subject, type and status come from the facts the
// engine knows of it (MapContext.workPackageFacts, the same as `##N`), so a rename of it
// reaches this page; its other attributes are not known to this page's mapping.
import type { MapInput, WorkPackageFacts } from '../../types.js';
import { attributeLabel, type AttributeMacro } from '../html/index.js';
import { camelCaseFieldName } from '../text/index.js';
import { typedFieldValue } from './default-fields.js';
import { YamlDate, YamlTimestamp, type YamlValue } from '../yaml/index.js';

const unquote = (s: string): string => s.replace(/^"(.*)"$/, '$1');

function plain(v: YamlValue): string | null {
  if (v === null) return null;
  if (Array.isArray(v)) return v.map((x) => plain(x) ?? '').join(', ');
  if (v instanceof YamlDate || v instanceof YamlTimestamp) return v.text;
  if (typeof v === 'object') return null;
  return String(v);
}

function workPackageValue(attribute: string, input: MapInput): string | null {
  const wp = input.workPackage;
  switch (attribute) {
    case 'id':
      return String(wp.id);
    case 'subject':
      return wp.subject;
    case 'type':
      return wp.type.name;
    case 'status':
      return wp.status.name;
    case 'project':
      return input.project.name;
    case 'author':
      return wp.author;
    case 'startDate':
      return wp.startDate;
    case 'dueDate':
    case 'finishDate':
      return wp.dueDate;
    case 'createdAt':
      return wp.createdAt.slice(0, 10);
    case 'updatedAt':
      return wp.updatedAt.slice(0, 10);
    default: {
      // A custom field, by its name, camel-cased name or `customFieldN`.
      const want = unquote(attribute);
      const entry = wp.customFields.find((e) => e.field.name === want || camelCaseFieldName(e.field.name) === want || `customField${e.field.id}` === want);
      return entry ? (entry.value === null ? '' : plain(typedFieldValue(wp, entry))) : null;
    }
  }
}

export function attributeMacroText(
  macro: AttributeMacro,
  input: MapInput,
  workPackageLink: (id: number) => string | null,
  factsOf?: (id: number) => WorkPackageFacts | null | undefined,
): { text: string; href: string | null } {
  const name = unquote(macro.attribute);
  const custom = input.workPackage.customFields.find((e) => `customField${e.field.id}` === name || camelCaseFieldName(e.field.name) === name);
  const label = custom ? custom.field.name : /\s/.test(name) ? name : attributeLabel(name);
  if (macro.kind === 'label') return { text: label, href: null };
  if (macro.model === 'workPackage') {
    const own = macro.id === null || macro.id === String(input.workPackage.id) || macro.id === `#${input.workPackage.id}`;
    if (own) {
      const v = workPackageValue(name, input);
      if (v !== null) return { text: v, href: null };
      return { text: `${label}: —`, href: null };
    }
    const id = /^#?([1-9]\d*)$/.exec(macro.id ?? '');
    if (id && factsOf && (name === 'subject' || name === 'type' || name === 'status')) {
      const facts = factsOf(Number(id[1]));
      if (facts) return { text: facts[name], href: null };
    }
    return { text: `${label} of ${id ? `#${id[1]}` : macro.id}`, href: id ? workPackageLink(Number(id[1])) : null };
  }
  if (macro.model === 'project' && (macro.id === null || macro.id === input.project.identifier || macro.id === String(input.project.id))) {
    if (name === 'name') return { text: input.project.name, href: null };
    if (name === 'identifier') return { text: input.project.identifier, href: null };
  }
  return { text: `${label} of ${macro.model === 'project' ? `project ${macro.id ?? input.project.name}` : `${macro.model}${macro.id ? ` ${macro.id}` : ''}`}`, href: null };
}
