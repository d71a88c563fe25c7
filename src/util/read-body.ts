/**
 * Reads a response body (an undici body, any async iterable of Buffers) as UTF-8 text, up to
 * `limit` bytes: past it the body is destroyed (the connection with it) and `overLimit` is set,
 * with the text of the first `limit` bytes. Backends' answers are read with it, so a huge or
 * endless answer never grows memory without bound.
 */
export async function readBody(body: AsyncIterable<Buffer> & { destroy(): unknown }, limit: number): Promise<{ text: string; overLimit: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      return { text: Buffer.concat(chunks, size).toString('utf8', 0, limit), overLimit: true };
    }
  }
  return { text: Buffer.concat(chunks, size).toString('utf8'), overLimit: false };
}
