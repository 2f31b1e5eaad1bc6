export { emitYaml, YamlDate, YamlTimestamp, type EmitOptions, type YamlValue } from './emit.js';
export { pythonStrip, renderFrontmatterFile } from './frontmatter.js';
