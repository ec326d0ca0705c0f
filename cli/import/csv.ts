// RFC 4180 CSV as `sfleet export history --format csv` writes it: a header line, CRLF (or LF)
// line ends, quoted fields with doubled quotes. Each record remembers the line it starts on.
import { ImportFileError } from './errors.js';

export interface CsvRecord {
  line: number;
  fields: string[];
}

export function parseCsv(text: string, file: string): { header: string[]; records: CsvRecord[] } {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let i = 0;
  const endRecord = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: start, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else field += ch;
    i++;
  }
  if (quoted) throw new ImportFileError(`${file}:${start}: a quoted field is not closed`);
  if (field !== '' || fields.length) endRecord();
  const [head, ...rest] = records;
  if (!head) throw new ImportFileError(`${file}: empty (no header line)`);
  for (const r of rest) if (r.fields.length !== head.fields.length) throw new ImportFileError(`${file}:${r.line}: ${r.fields.length} fields, the header has ${head.fields.length}`);
  return { header: head.fields, records: rest };
}
