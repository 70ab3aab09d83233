"""Exports: the bytes that leave (SPEC section 5, section 8).

``writers`` and ``render_sql`` write a month's files, ``profiles`` the accounting systems'
limits, ``verify`` checks a folder against its manifest, ``statements*`` the customer
statements (HTML, PDF, the year so far).
"""
