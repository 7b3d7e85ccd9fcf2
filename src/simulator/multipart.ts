/**
 * @module A small multipart/form-data parser (RFC 7578) for the audio
 * endpoints: fields as strings, files as bytes with their filename. The whole
 * body is in memory already (bounded by the server's body limit).
 */

export interface FormFile { filename: string; contentType: string; data: Buffer }
export interface Form { fields: Map<string, string>; files: Map<string, FormFile> }

/** The boundary of a multipart/form-data content-type, or null. */
export function boundaryOf(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

function param(header: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}="((?:[^"\\\\]|\\\\.)*)"|;\\s*${name}=([^;\\s]+)`, 'i').exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/** The parts of `body`, or null when it is not well-formed. */
export function parseMultipart(body: Buffer, boundary: string): Form | null {
  const delim = Buffer.from(`--${boundary}`);
  const form: Form = { fields: new Map(), files: new Map() };
  let at = body.indexOf(delim);
  if (at < 0) return null;
  for (;;) {
    at += delim.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return form; // closing delimiter
    if (body[at] === 0x0d && body[at + 1] === 0x0a) at += 2; else return null;
    const headEnd = body.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return null;
    const headers = body.subarray(at, headEnd).toString('utf8').split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) return null;
    const data = body.subarray(headEnd + 4, next);
    let disposition = '';
    let type = 'text/plain';
    for (const h of headers) {
      const i = h.indexOf(':');
      if (i < 0) continue;
      const key = h.slice(0, i).trim().toLowerCase();
      if (key === 'content-disposition') disposition = h.slice(i + 1);
      else if (key === 'content-type') type = h.slice(i + 1).trim();
    }
    const name = param(disposition, 'name');
    if (name !== undefined) {
      const filename = param(disposition, 'filename');
      if (filename !== undefined) form.files.set(name, { filename, contentType: type, data: Buffer.from(data) });
      else form.fields.set(name, data.toString('utf8'));
    }
    at = next + 2;
  }
}
