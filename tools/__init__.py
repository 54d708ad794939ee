"""Build tooling used by ``make`` (never shipped in the wheel): the solc bridge (:mod:`tools.solc`), the shipped
artifacts (:mod:`tools.artifacts`) and the mypyc build of the audit's hot modules (:mod:`tools.native`)."""
