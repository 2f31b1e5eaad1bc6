export { convertDescription, type ConvertedDescription, type DescriptionLinks, type LocalImage } from './convert.js';
export { attachmentByFileName, attachmentIdOfUrl, findHashReferences, isBareFileName, referencedAttachments, workPackageIdOfUrl } from './references.js';
export { figureShortcode, markdownifyLiteral, markdownLiteral, neutraliseShortcodesInCode, shortcodeValue } from './hugo.js';
export { attributeLabel, findOpenProjectSyntax, resourceHref, resourceLabel, wikiHref, wikiLabel, type AttributeMacro, type ResourceRef, type WikiLink } from './op-syntax.js';
