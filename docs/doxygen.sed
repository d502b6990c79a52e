# doxygen.sed - Doxygen's INPUT_FILTER for the public headers (make docs).
# The headers keep plain C comments (STYLE: /* */ only); this turns them
# into Doxygen comments on the fly, never in the files themselves:
#   - the file's opening comment documents the file (\file);
#   - section banners (/* ===== ... ===== */) are dropped: they describe a
#     group of declarations, not the one that follows;
#   - a comment that starts a line documents what follows it;
#   - a comment after a member or enumerator (after ; or ,) documents it.
1s,^/\*$,/** \\file,
/^ *\/\* =\{5,\}/,/\*\//d
s,^\( *\)/\* ,\1/** ,
s,^\( *\)/\*$,\1/**,
s,\([;,]\) *\/\* ,\1 /**< ,
# Plain text that Doxygen would read as markup: sanic's decorators
# (@app.route) and route placeholders (<name>, <path>).
s,\([^\\]\)@\([a-z]\),\1\\@\2,g
s,<\([a-z][a-z_]*\)>,\\<\1\\>,g
