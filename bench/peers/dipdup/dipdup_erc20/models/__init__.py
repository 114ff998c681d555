from dipdup import fields
from dipdup.models import Model


class Transfer(Model):
    id = fields.TextField(primary_key=True)
    from_ = fields.TextField()
    to = fields.TextField()
    value = fields.DecimalField(decimal_places=0, max_digits=78)
    block_number = fields.BigIntField()
    log_index = fields.IntField()
    tx_hash = fields.TextField()
