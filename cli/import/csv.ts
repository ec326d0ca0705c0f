// RFC 4180 CSV as `sfleet export history --format csv` writes it: a header line, CRLF (or LF)
// line ends, quoted fields with doubled quotes. Each record remembers the line it starts on.
// Read in chunks (CsvStream), so a file of any size is never held whole.
import { ImportFileError } from './errors.js';

export interface CsvRecord {
  line: number;
  fields: string[];
}

export class CsvStream {
  private header: string[] | undefined;
  private fields: string[] = [];
  private field = '';
  private quoted = false;
  private line = 1;
  private start = 1;
  /** Quotes or a '\r' at the end of a chunk wait for the next character to say what they are. */
  private carry = '';

  constructor(private readonly file: string) {}

  /** The header once the first record is read. */
  get columns(): string[] | undefined {
    return this.header;
  }

  /** The complete records in `chunk` (after the header), each checked against the header's width. */
  feed(chunk: string, final = false): CsvRecord[] {
    let text = this.carry + chunk;
    this.carry = '';
    if (!final) {
      // A run of quotes is carried whole: '""' (an escaped quote) must not be read as a close.
      const tail = /(?:"+|\r)$/.exec(text)?.[0] ?? '';
      this.carry = tail;
      text = text.slice(0, text.length - tail.length);
    }
    const out: CsvRecord[] = [];
    const endRecord = (): void => {
      this.fields.push(this.field);
      const fields = this.fields;
      this.fields = [];
      this.field = '';
      if (fields.length === 1 && fields[0] === '') return;
      if (!this.header) this.header = fields;
      else if (fields.length !== this.header.length) throw new ImportFileError(`${this.file}:${this.start}: ${fields.length} fields, the header has ${this.header.length}`);
      else out.push({ line: this.start, fields });
    };
    let i = 0;
    while (i < text.length) {
      const ch = text[i];
      if (this.quoted) {
        if (ch === '"' && text[i + 1] === '"') {
          this.field += '"';
          i += 2;
          continue;
        }
        if (ch === '"') this.quoted = false;
        else {
          if (ch === '\n') this.line++;
          this.field += ch;
        }
        i++;
        continue;
      }
      if (ch === '"' && this.field === '') this.quoted = true;
      else if (ch === ',') {
        this.fields.push(this.field);
        this.field = '';
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r' && text[i + 1] === '\n') i++;
        endRecord();
        this.line++;
        this.start = this.line;
      } else this.field += ch;
      i++;
    }
    if (final) {
      if (this.quoted) throw new ImportFileError(`${this.file}:${this.start}: a quoted field is not closed`);
      if (this.field !== '' || this.fields.length) endRecord();
      if (!this.header) throw new ImportFileError(`${this.file}: empty (no header line)`);
    }
    return out;
  }
}

/** A whole CSV text at once (small inputs, tests). */
export function parseCsv(text: string, file: string): { header: string[]; records: CsvRecord[] } {
  const csv = new CsvStream(file);
  const records = csv.feed(text, true);
  return { header: csv.columns!, records };
}
