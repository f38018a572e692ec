/**
 * The status page, as string modules so esbuild bundles it into the one CLI file with no build step of its own.
 */
export { CHARTS_JS } from './charts.ts';
export { EDITOR_JS } from './editor-bundle.ts';
export { PAGE_CSS } from './css.ts';
export { PAGE_HTML } from './html.ts';
export { PAGE_JS } from './js.ts';
