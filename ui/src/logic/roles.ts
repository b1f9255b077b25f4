// The admin API's roles, in a module with no DOM use, so logic the unit tests load (under Node) can name them.
export type Role = 'viewer' | 'operator' | 'admin';
