/**
 * Rendering of attributions: numbers first (`toJson`, the documented JSON), pictures second
 * (`renderTerminal`, `renderMatrixTerminal`, `renderHtml`). Renderers take an `Attribution`
 * and nothing else, and import no runtime, so the browser build can use them too.
 */
export { JSON_FORMAT, JSON_FORMAT_DOC, toJson, toPlain, type JsonOptions } from './json.js';
export { colorDefault, paletteDefault, renderMatrixTerminal, renderTerminal, sanitize, xterm256, type ColorMode, type MatrixOptions, type TerminalOptions } from './terminal.js';
export { escapeHtml, renderHtml, scriptJson, type HtmlOptions } from './html.js';
export { divergingColor, formatNumber, formatScore, textSegments, topFeatures } from './common.js';
