// The types of /assets/markdown-it.js, markdown-it's browser build (src/http/static.ts
// VENDOR_MODULES), for the page's type check.
export { default } from 'markdown-it';
