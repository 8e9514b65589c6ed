import { fileTypeFromFile } from 'file-type';

/**
 * The types a browser may show inline, and the only ones ImageProcessor decodes: raster formats
 * with no script, no external references and a decoder we bound (pixel limit, timeout). SVG is
 * absent on purpose (it can carry script); so are formats a browser cannot show (TIFF, HEIC).
 */
export const INLINE_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

/** One of INLINE_IMAGE_TYPES. */
export type InlineImageType = (typeof INLINE_IMAGE_TYPES)[number];

/** The type given to a file whose bytes match no known binary signature. */
export const UNKNOWN_TYPE = 'application/octet-stream';

/** Whether `type` is one of INLINE_IMAGE_TYPES (exactly: no parameters, lower case). */
export function isInlineImage(type: string): type is InlineImageType {
  return (INLINE_IMAGE_TYPES as readonly string[]).includes(type);
}

/**
 * Whether a type file-type can report is a document a browser would run script in. file-type
 * reports any file starting `<?xml ` as application/xml, and an SVG or XHTML page often does: a
 * browser shown it as XML renders the SVG and runs its <script>. Such types are reported as
 * UNKNOWN_TYPE, like the HTML and SVG that file-type cannot tell, so that all of them read alike.
 */
function isMarkup(mime: string): boolean {
  return /^(application|text)\/(xml|html)$|^application\/xhtml\+xml$|\+xml$/.test(mime);
}

/**
 * The MIME type of the file at `path`, judged from its bytes alone (file-type reads the first few
 * kilobytes; the name, its extension and any Content-Type the client sent play no part), or
 * UNKNOWN_TYPE when no signature matches. Text formats have no signature, so HTML, SVG and plain
 * text come back as UNKNOWN_TYPE, and so does XML (see isMarkup): intended, as they must never be
 * served inline. The HTTP layer must still serve every type that is not isInlineImage() as an
 * attachment with `X-Content-Type-Options: nosniff` (a PDF, for one, is not markup). A polyglot
 * answers with the type its first bytes claim (PNG bytes named .html are image/png); the image
 * decoder then decides whether the rest is really that image. Rejects only when the file cannot
 * be read.
 */
export async function sniff(path: string): Promise<string> {
  const found = await fileTypeFromFile(path);
  if (found === undefined || isMarkup(found.mime)) return UNKNOWN_TYPE;
  return found.mime;
}
