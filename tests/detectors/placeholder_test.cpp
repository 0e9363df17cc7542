// placeholder so the binary links
