/** The stamp `scripts/build.js` writes into dist/ after a successful compile. */
export declare const STAMP_FILE: string;
/** Whether `root/dist` was built from the current `root/src` (see build-stamp.js). */
export declare function isBuildFresh(root: string): boolean;
