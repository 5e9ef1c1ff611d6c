"""Every message a LINE user sees: Flex bubbles, texts and quick replies, in zh-TW and English (the catalogue)."""
