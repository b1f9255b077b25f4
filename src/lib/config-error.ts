// The error every configuration source throws: it names the file, the path inside it and the bad value,
// so an operator can fix the file without reading our code.

export class ConfigError extends Error {
  readonly code = 'ERR_EDGE_CONFIG';
  constructor(
    readonly source: string,
    readonly path: string,
    detail: string,
  ) {
    super(path ? `${source}: ${path}: ${detail}` : `${source}: ${detail}`);
    this.name = 'ConfigError';
  }
}
