"""zhiwang (智网): grid-based community governance for Chinese cities."""

__version__ = "0.1.0"
