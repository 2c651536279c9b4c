"""公文: drafting, routing, numbering, GB/T 9704 output, incoming documents, supervision."""
