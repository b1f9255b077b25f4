// The admin roles, lowest first. Every audit entry names the role its actor acted with, so the audit log
// (below the admin API in the layers) defines them; the admin API's access control ranks them.

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
