/** An HTTP answer as tests assert it: the status, and the body parsed as JSON or, when it is not JSON (401, 404, 400 texts), as the text. */
export async function answerOf(res: Response): Promise<{ status: number; body: unknown }> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}
