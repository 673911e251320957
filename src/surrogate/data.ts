/**
 * Text sets for surrogates: a TSV with a header (a `sentence`, `content` or `text` column, and
 * optionally a gold `label` column), as GLUE's SST-2 files are, or a plain text file with one
 * text per line. Gold labels stay strings here; `goldIndices` maps them to class indices once
 * the model's classes are known (an integer is an index, anything else a class name).
 */
import { fail } from '../errors.js';

export const TEXT_COLUMNS = ['sentence', 'content', 'text'];
export const LABEL_COLUMN = 'label';

export interface TextData {
  texts: string[];
  /** Gold label per text ('' → null), or null when the file has no label column. */
  gold: (string | null)[] | null;
  format: 'tsv' | 'lines';
  /** The TSV column the texts came from. */
  column: string | null;
}

/**
 * Parse a text set. `name` (the file name) is used in errors, and a `.tsv` name or a tab in the
 * first line makes it a TSV.
 */
export function parseTextData(content: string, name: string): TextData {
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.every((l) => l.trim() === '')) fail('BAD_INPUT', `${name} is empty`, { hint: 'Give a TSV with a header and a sentence column, or one text per line' });
  const tsv = /\.tsv$/i.test(name) || lines[0].includes('\t');
  if (!tsv) {
    const texts = lines.filter((l) => l.trim() !== '');
    return { texts, gold: null, format: 'lines', column: null };
  }
  const header = lines[0].split('\t').map((h) => h.trim());
  const textCol = TEXT_COLUMNS.map((c) => header.findIndex((h) => h.toLowerCase() === c)).find((i) => i >= 0);
  if (textCol === undefined) {
    fail('BAD_INPUT', `${name} has no text column (columns found: ${header.map((h) => JSON.stringify(h)).join(', ')})`, {
      hint: `Name the column of texts ${TEXT_COLUMNS.join(', ')}, or give one text per line without tabs`,
    });
  }
  const labelCol = header.findIndex((h) => h.toLowerCase() === LABEL_COLUMN);
  const texts: string[] = [];
  const gold: (string | null)[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cells = lines[i].split('\t');
    if (cells.length <= textCol || (labelCol >= 0 && cells.length <= labelCol)) {
      fail('BAD_INPUT', `line ${i + 1} of ${name} has ${cells.length} column(s), the header ${header.length}`);
    }
    texts.push(cells[textCol]);
    if (labelCol >= 0) gold.push(cells[labelCol].trim() === '' ? null : cells[labelCol].trim());
  }
  if (texts.length === 0) fail('BAD_INPUT', `${name} has a header but no rows`);
  return { texts, gold: labelCol >= 0 ? gold : null, format: 'tsv', column: header[textCol] };
}

/** Gold labels as class indices: '1' → 1, 'positive' → the class named positive (case-insensitive). */
export function goldIndices(gold: (string | null)[], classes: string[], name: string): (number | null)[] {
  const byName = new Map(classes.map((c, i) => [c.toLowerCase(), i]));
  return gold.map((g, i) => {
    if (g === null) return null;
    if (/^\d+$/.test(g) && Number(g) < classes.length) return Number(g);
    const k = byName.get(g.toLowerCase());
    if (k === undefined) {
      fail('BAD_INPUT', `gold label '${g}' of row ${i + 1} in ${name} is neither a class index (0..${classes.length - 1}) nor a class name`, {
        hint: `The model's classes: ${classes.join(', ')}`,
      });
    }
    return k;
  });
}
