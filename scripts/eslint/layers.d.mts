// Types of layers.mjs for the tests that import it.
import type { ESLint } from 'eslint';

/** The layers of src/, lowest first: [folder, what it is]. */
export declare const LAYERS: readonly (readonly [string, string])[];
export declare const layersPlugin: ESLint.Plugin;
