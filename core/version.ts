// Kiln's version, as package.json has it (a test keeps the two equal): in `kiln_build_info` and on spans.
export const KILN_VERSION = '0.1.0'
