import logging
def test_zz_logging_clean():
    lg = logging.getLogger("accelml")
    assert lg.level == logging.NOTSET and not lg.handlers, (lg.level, lg.handlers)
    assert logging.getLogger("py.warnings").propagate
