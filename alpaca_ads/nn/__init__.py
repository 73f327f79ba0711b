"""The ads networks: text encoder E, text decoder D, layout/interactor nets, painter, icon match,
reader. Torch modules only; the data, the loop and the files live elsewhere."""
