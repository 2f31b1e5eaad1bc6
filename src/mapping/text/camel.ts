// Custom field name → frontmatter key (MAPPING.md §5.4): runs of [A-Za-z0-9], the first
// lower-cased, the others capitalised: "Clean URL" → cleanUrl, "Video Recording URL" → videoRecordingUrl.
export function camelCaseFieldName(name: string): string {
  const words = name.match(/[A-Za-z0-9]+/g) ?? [];
  return words
    .map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()))
    .join('');
}
