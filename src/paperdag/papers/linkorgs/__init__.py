"""linkorgs: "Linking Datasets on Organizations Using Half A Billion Open Collaborated Records (Libgober & Jerzak, PSRM 2024)"."""
