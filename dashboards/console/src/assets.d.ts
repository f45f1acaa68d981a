/** Stylesheets imported for their effect: esbuild gathers them into app.css. */
declare module '*.css'
