"""Help requests: an official asks the campaign for help; staff answer in a thread."""
