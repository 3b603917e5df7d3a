"""The one shape of a business-rule refusal: a translated message, and the form field it is about."""


class ServiceError(Exception):
    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message = message  # a lazy string, translated when shown
        self.field = field  # the form field to show it on; None for the whole form
