"""Rich menus as code: the guest and member menus' areas and actions (images and deployment: see README)."""
