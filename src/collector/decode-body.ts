/**
 * Decoding a collector request body: the Content-Encoding (identity or gzip)
 * with a cap on the decompressed size, so a small zip bomb cannot exhaust
 * memory, then JSON.
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';

const gunzipAsync = promisify(gunzipCallback);

export type DecodeFailure = { status: 400 | 413 | 415; error: string };

/** Returns the decoded text, or a failure with the HTTP status to answer. */
export async function decodeBody(
  body: Buffer,
  encoding: string | undefined,
  maxDecodedBytes: number,
): Promise<string | DecodeFailure> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') {
    if (body.length > maxDecodedBytes) return { status: 413, error: `body larger than ${maxDecodedBytes} bytes` };
    return body.toString('utf8');
  }
  if (enc !== 'gzip' && enc !== 'x-gzip')
    return { status: 415, error: `unsupported Content-Encoding "${enc.slice(0, 40)}"; send gzip or identity` };
  try {
    const out = await gunzipAsync(body, { maxOutputLength: maxDecodedBytes });
    return out.toString('utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || cause instanceof RangeError)
      return { status: 413, error: `decompressed body larger than ${maxDecodedBytes} bytes` };
    return { status: 400, error: 'body is not valid gzip' };
  }
}
