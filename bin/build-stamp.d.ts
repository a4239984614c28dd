/** The stamp `scripts/build.js` writes into dist/ after a successful build. */
export declare const STAMP_FILE: string;
/** Whether `root/dist` was built from the current sources and packages (see build-stamp.js). */
export declare function isBuildFresh(root: string): boolean;
