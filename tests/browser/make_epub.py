"""Writes the EPUB 3 the browser tests read and upload: three chapters of about the same
length (so a fraction of the book falls in the chapter a reader expects), a table of contents,
and metadata for the shop keeper's "fill in from the files"."""

import sys
import zipfile

CHAPTERS = ["The Keeper", "The Storm", "The Light"]
PARAGRAPH = (
    "<p>The lamp turned through the night, and the sea below it kept its own slow time; "
    "each sweep of light crossed the water, the rocks and the sleeping town.</p>\n"
)


def chapter(number, title):
    body = "".join(PARAGRAPH for _ in range(60))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>' + title + "</title></head>"
        f"<body><h1>Chapter {number}: {title}</h1>\n{body}</body></html>"
    )


def main(path):
    manifest = "".join(
        f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>'
        for n in range(1, len(CHAPTERS) + 1)
    )
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(1, len(CHAPTERS) + 1))
    toc = "".join(
        f'<li><a href="c{n}.xhtml">{title}</a></li>' for n, title in enumerate(CHAPTERS, 1)
    )
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">urn:isbn:9780000000019</dc:identifier>
    <dc:title>The Lighthouse</dc:title>
    <dc:creator>Iris Keeper</dc:creator>
    <dc:language>en</dc:language>
    <dc:publisher>Harbour Press</dc:publisher>
    <dc:date>2021-06-01</dc:date>
    <dc:description>A keeper, a storm and the light.</dc:description>
    <meta property="dcterms:modified">2026-01-01T00:00:00Z</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    {manifest}
  </manifest>
  <spine>{spine}</spine>
</package>"""
    nav = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Contents</title></head>'
        f'<body><nav epub:type="toc"><ol>{toc}</ol></nav></body></html>'
    )
    container = (
        '<?xml version="1.0"?>\n<container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", container, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("OEBPS/content.opf", opf, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("OEBPS/nav.xhtml", nav, compress_type=zipfile.ZIP_DEFLATED)
        for n, title in enumerate(CHAPTERS, 1):
            z.writestr(f"OEBPS/c{n}.xhtml", chapter(n, title), compress_type=zipfile.ZIP_DEFLATED)


if __name__ == "__main__":
    main(sys.argv[1])
