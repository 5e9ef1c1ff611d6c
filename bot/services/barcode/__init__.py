"""The rotating member barcode and what a scan of it means."""
