"""Skills as text: loading SKILL.md folders, parsing, scanning, the catalog; the bundled
skills are folders beside. Nothing in a skill is ever run."""
