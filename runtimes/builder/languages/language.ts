// One builder per language, all behind this interface: a new language is one file in this folder and
// one line in ../index.ts (LANGUAGES).

/** The built package folder, ready to be packed (../archive.ts). */
export interface PackageFolder {
  dir: string
  /** every file in `dir`, relative, '/'-separated, sorted */
  files: string[]
  /** canonical 'file' or 'file:export', relative to `dir` */
  entrypoint: string
  /** the entry's source, for shape detection (empty when unreadable) */
  entrySource: string
  warnings: string[]
}

export interface LanguageBuilder {
  readonly name: string
  /** Runtime names and `language` values starting with it name this language (`node`, `python3.12`). */
  readonly prefix: string
  /** Other `language` values that name it (`javascript`). */
  readonly aliases: readonly string[]
  /** When neither the runtime's language nor its name says: does the source (a file or a folder) look written in it? */
  looksLike(source: string): boolean
  /** Builds the package folder inside `work`, a temp folder the caller removes. */
  build(input: { source: string; entrypoint?: string }, work: string): Promise<PackageFolder>
}
