// Thumbnails already fetched (data URLs by photo hash), shared by the screens.
export const thumbCache = new Map<string, string>();
