/**
 * The kindergarten's privacy policy, copied into the example as its content
 * (content/privacy-policy.ru.txt), parsed once into a title, paragraphs and
 * lists ("- " lines).
 */
import { readFileSync } from 'node:fs';

export type PolicyBlock = { kind: 'p'; text: string } | { kind: 'ul'; items: string[] };

export interface PolicyText {
  title: string;
  blocks: PolicyBlock[];
}

export function parsePolicy(text: string): PolicyText {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: PolicyBlock[] = [];
  let title = '';
  for (const raw of lines) {
    const line = raw.trim();
    if (!line) continue;
    if (!title) {
      title = line;
      continue;
    }
    if (line.startsWith('- ')) {
      const last = blocks.at(-1);
      if (last?.kind === 'ul') last.items.push(line.slice(2));
      else blocks.push({ kind: 'ul', items: [line.slice(2)] });
    } else {
      blocks.push({ kind: 'p', text: line });
    }
  }
  return { title, blocks };
}

export function loadPolicy(): PolicyText {
  return parsePolicy(readFileSync(new URL('../content/privacy-policy.ru.txt', import.meta.url), 'utf8'));
}
