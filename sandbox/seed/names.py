"""Word lists of generated company and person names (order matters: seeds
draw from them by index)."""

from __future__ import annotations

PREFIXES: tuple[str, ...] = tuple(
    ["Alpine", "Apex", "Atlas", "Aurora", "Beacon", "Birchwood", "Bright", "Cedar", "Clearwater", "Coastal", "Copper", "Crescent", "Crystal", "Delta", "Eagle", "Evergreen", "Falcon", "Granite", "Golden", "Harbor", "Highland", "Horizon", "Ironbridge", "Juniper", "Keystone", "Lakeside", "Lighthouse", "Maple", "Meridian", "Millstone", "Northern", "Oakridge", "Orchid", "Pacific", "Pinecrest", "Pioneer", "Prairie", "Quarry", "Redwood", "Ridgeline", "Riverbend", "Sage", "Silverline", "Summit", "Sterling", "Stonegate", "Sunrise", "Timber", "Valley", "Vertex", "Willow", "Zenith", "Bluewater", "Hawthorn", "Ashford", "Kingsway"]
)

TRADES: tuple[str, ...] = tuple(
    ["Analytics", "Bakery", "Brewing", "Builders", "Capital", "Consulting", "Dental", "Design", "Energy", "Engineering", "Foods", "Freight", "Health", "Hotels", "Insurance", "Labs", "Legal", "Logistics", "Manufacturing", "Media", "Medical", "Motors", "Outfitters", "Pharma", "Printing", "Properties", "Retail", "Robotics", "Software", "Solar", "Supply", "Systems", "Textiles", "Travel", "Ventures", "Wholesale", "Accounting", "Architects", "Clinics", "Marine"]
)

FIRST_NAMES: tuple[str, ...] = tuple(
    ["Adele", "Alex", "Allan", "Amara", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Daniel", "Diego", "Elena", "Emily", "Farah", "Grace", "Hana", "Henrik", "Isaac", "Ivy", "Jamal", "Jana", "Joni", "Kenji", "Lara", "Lee", "Lidia", "Lynne", "Marta", "Megan", "Miriam", "Nestor", "Nina", "Omar", "Patti", "Pradeep", "Priya", "Raul", "Sofia", "Tomas", "Yuki", "Zoe", "Ahmed", "Olga", "Sven"]
)

LAST_NAMES: tuple[str, ...] = tuple(
    ["Vance", "Wilber", "Deyoung", "Okafor", "Walker", "Rossi", "Garcia", "Wei", "Martin", "Novak", "Alvarez", "Petrova", "Johnson", "Haddad", "Taylor", "Sato", "Larsen", "Cohen", "Brown", "Mensah", "Kowalski", "Sherman", "Tanaka", "Silva", "Park", "Ortiz", "Cameron", "Muller", "Bowen", "Katz", "Zakharov", "Ng", "Dubois", "Fernandez", "Kumar", "Shah", "Moreno", "Jensen", "Berg", "Ito", "Nakamura", "Hassan", "Ivanova", "Lindqvist"]
)

#: Company suffix -> (country, culture).
SUFFIXES: dict[str, tuple[str, str]] = {
    "Ltd": ("GB", "en-GB"),
    "plc": ("GB", "en-GB"),
    "Inc": ("US", "en-US"),
    "LLC": ("US", "en-US"),
    "Co.": ("US", "en-US"),
    "Corporation": ("US", "en-US"),
    "GmbH": ("DE", "de-DE"),
    "AG": ("DE", "de-DE"),
    "BV": ("NL", "nl-NL"),
    "Pty Ltd": ("AU", "en-AU"),
    "SA": ("FR", "fr-FR"),
    "Group": ("CA", "en-CA"),
    "Partners": ("IE", "en-IE"),
}
SUFFIX_NAMES = tuple(SUFFIXES)
