/**
 * Reading a Server-Sent Events stream (text/event-stream) as Enkaku's own streams write it:
 * blocks separated by a blank line, each with an `event:` line and at most one `data:` line.
 * Used by the tests and benchmarks that watch the worklist and alert streams.
 */

/**
 * A chunk handler for a UTF-8 event stream: call it with each chunk as it arrives; it calls
 * `onEvent` once per complete block, in order, with the event name ('message' when the
 * block has none) and its data ('' when it has none). Partial blocks wait for the next chunk.
 */
export function sseReader(onEvent: (name: string, data: string) => void): (chunk: string) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      onEvent(/^event: (.*)$/m.exec(block)?.[1] ?? 'message', /^data: (.*)$/m.exec(block)?.[1] ?? '');
    }
  };
}
