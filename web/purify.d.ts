// The types of /assets/purify.js, DOMPurify's ES module build (src/http/static.ts
// VENDOR_MODULES), for the page's type check.
export { default } from 'dompurify';
