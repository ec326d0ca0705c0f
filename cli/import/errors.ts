// Why a file could not be imported: names the file, the row or line, and the column.
export class ImportFileError extends Error {}
