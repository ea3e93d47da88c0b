from .cakes_recognizer import CAKESRecognizer3D

__all__ = ['CAKESRecognizer3D']
