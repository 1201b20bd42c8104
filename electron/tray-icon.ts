/** The tray icon (32×32 PNG, the console's diamond), embedded so the app needs no icon file at run time. */
export const TRAY_ICON_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAYAAABzenr0AAAAhUlEQVR42u2X2wnAIAxFnawTdYJO5ERdoWO01M+C+Mo1p2Ag3+eAmlxDWPXnOrb9ftsV7iLxhU+VyMGnSJTgUolauEQiB7nimVoqUYJLJWrhEolWuKlEL9xEYhQ+JGEF75ZwF3A/AsQlRDxDxCBCjGLEMkKsY0QgQUQyRChFxHLEx2SVVT3QT5ZiUHHq8gAAAABJRU5ErkJggg==';
