export { brandOf, fqdn, slugBaseOf, tldExtract } from './brand.js';
export { camelCaseFieldName } from './camel.js';
export { excerpt } from './excerpt.js';
export { htmlUnescape } from './html-unescape.js';
export { slugify } from './slugify.js';
export { wrap } from './textwrap.js';
export { isoWith6Fraction, naiveTimestampText } from './timestamps.js';
export { NAMESPACE_URL, uuid5 } from './uuid5.js';
