/** One parsed SSE frame, as a test sees it. */
export interface Frame {
  id?: string;
  event?: string;
  data?: unknown;
  comment?: string;
}

/** Parses a whole SSE body (frames separated by blank lines) into frames. */
export function parseSse(body: string): Frame[] {
  const frames: Frame[] = [];
  for (const block of body.split('\n\n')) {
    if (!block) continue;
    const frame: Frame = {};
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) frame.comment = line.slice(1).trim();
      else if (line.startsWith('id: ')) frame.id = line.slice(4);
      else if (line.startsWith('event: ')) frame.event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
      else throw new Error(`unexpected SSE line: ${JSON.stringify(line)}`);
    }
    if (data.length) frame.data = JSON.parse(data.join('\n'));
    frames.push(frame);
  }
  return frames;
}

/** The joined text of all `text` frames. */
export function joinedText(frames: Frame[]): string {
  return frames
    .filter((f) => f.event === 'text')
    .map((f) => (f.data as { text: string }).text)
    .join('');
}
