/**
 * Word lists for the sample data. Chosen to exercise what breaks naive backup and restore code:
 * accents (NFC and characters with no ASCII fold such as ł, ø), apostrophes, ampersands,
 * multi-word surnames, em dashes and curly quotes. Order matters: the seed picks by index, so
 * editing a list changes every seeded database (and the determinism fixtures with it).
 */

export const FIRST_NAMES = [
  'Zoë', 'José', 'Siobhán', 'Amélie', 'Björn', 'Chloé', 'Renée', 'Noémie', 'Łukasz', 'François',
  'Aoife', 'Niamh', 'Søren', 'Mária', 'Jürgen', 'Inés', 'Dalia', 'Priya', 'Mei', 'Oluwaseun',
  'Ana', 'James', 'Emma', 'Liam', 'Olivia', 'Noah', 'Sofía', 'Mateo', 'Hannah', 'Oliver',
  'Seán', 'Róisín', 'Zoltán', 'Anaïs', 'Göran', 'Élodie', 'Ravi', 'Yuki', 'Fatima', 'Kwame',
  'Ngozi', 'Lars', 'Astrid', 'Hélène', 'Tomás', 'Cáit', 'Darragh', 'Eoghan', 'Grace', 'Daniel',
];

export const LAST_NAMES = [
  "O'Brien", 'Núñez', "D'Arcy", 'Müller', 'García', 'Smith', 'Nguyễn', 'Kowalski', 'Ó Súilleabháin', 'Dubois',
  'Rossi', 'Johansson', 'Papadopoulos', 'MacDonald', 'van der Berg', 'Çelik', 'Jones', 'Patel', 'Kim', 'Williams',
  'Brown', 'Fernández', 'Søndergaard', 'Lefèvre', 'Schäfer', 'Ní Bhriain', "O'Sullivan", "D'Souza", 'Okafor', 'Mensah',
  'Tanaka', 'Wiśniewska', 'Haddad', 'Björklund', 'St. John', 'Fitzgerald', 'Le Roux', 'Dvořák', 'Hernández', 'Mac Giolla Phádraig',
];

/** The first wedding of every seeded database: a fixed, quote-and-accent-heavy fixture. */
export const FIRST_COUPLE = "Zoë O'Brien & José Núñez";

export const ORGANIZATION_NAMES = [
  'Bellevue Weddings', 'Château Lumière Events', "O'Connell & Daughters Planning", 'Søren & Co. Weddings',
  'Núñez Bodas', 'Evergreen Events', "Siobhán's Wedding Studio", 'Harbour & Hills', 'Ivory Lane Planners',
  'Golden Thread Weddings', 'Müller Hochzeiten', 'Łąka Events',
];

export const VENUES = [
  'Château de la Mer', 'The Old Rectory', 'Ballynahinch Castle', "St. Mary's Church", 'The Glasshouse',
  'Villa Sorrento', 'The Boathouse', 'Hôtel du Lac', 'Cliffside Barn', 'Ashford Castle',
  'Müllerhof Estate', "Smith & Daughters' Hall", 'Rosewood Manor', 'The Botanic Conservatory', 'Casa Núñez',
  'Harbour Lights Pavilion', 'Fern Hollow Farm', 'The Orangery', 'Lough Eske Castle', 'Riverside Marquee',
];

export const THEMES = ['rustic', 'boho', 'classic', 'black tie', 'garden party', 'beach', 'art deco', 'minimalist', 'winter wonderland', 'fairytale', 'festival'];

export const COLOURS = ['sage', 'ivory', 'blush', 'navy', 'gold', 'terracotta', 'dusty rose', 'emerald', 'lavender', 'burgundy', 'champagne', 'midnight blue'];

export const WEDDING_NOTES = [
  "Couple's dog Biscuit is the ring bearer",
  "Bride's grandmother uses a wheelchair — ramp needed at the chapel",
  'No confetti allowed by the venue; dried petals only',
  'Ceremony in Irish and English',
  "Surprise fireworks at 22:30 — don't tell the groom!",
  'Rain plan: move the ceremony to the Orangery',
  'Two officiants: one civil, one humanist',
  'Speeches before the meal, not after',
];

export const WEDDING_TAGS = ['outdoor', 'indoor', 'religious', 'civil', 'pets', 'kids-welcome', 'adults-only', 'vegetarian-menu', 'live-band', 'fireworks', 'bilingual', 'accessible'];

/** Vendor categories and the word a business in that category puts after its name. */
export const VENDOR_CATEGORIES = [
  'photographer', 'florist', 'caterer', 'dj', 'venue', 'cake', 'videographer', 'band', 'officiant', 'hair-and-makeup',
  'transport', 'planner', 'stationery', 'lighting', 'marquee', 'photo-booth', 'bridalwear', 'menswear', 'jeweller', 'entertainment',
];
export const VENDOR_CATEGORY_LABELS = [
  'Photography', 'Florals', 'Catering', 'DJs', 'Venue Hire', 'Cakes', 'Films', 'Band', 'Celebrants', 'Hair & Make-up',
  'Wedding Cars', 'Planning', 'Stationery', 'Lighting', 'Marquees', 'Photo Booths', 'Bridal', 'Tailoring', 'Jewellers', 'Entertainment',
];

export const VENDOR_PREFIXES = [
  'Golden Hour', 'Lumière', "O'Neill's", 'Bluebell', 'Crème de la Crème', 'Wildflower', 'Ivy & Oak', 'Müller & Söhne',
  'Silver Birch', 'Velvet Moon', 'Harbour', 'Château', 'Twin Pines', "Ruby's", 'Søstrene', 'Petal & Stem',
  'Forget-Me-Not', 'Starlight', 'Honeybee', 'Northern Lights',
];

export const VENDOR_NOTES = [
  'Deposit paid — balance due 14 days before',
  'Needs access to power by 10:00',
  "Won't photograph during the ceremony (officiant's request)",
  'Arrives via the service entrance on Mill Lane',
  'Crew meals ×3, one vegetarian',
  "Invoice to the bride's father",
  'Confirm final numbers by Friday',
  'Bringing their own PA; needs a 2 m × 3 m space',
];

export const DIETS = [
  'vegan', 'vegetarian', 'gluten-free', 'nut allergy — severe', 'halal', 'kosher', 'pescatarian', 'dairy-free',
  'no pork', 'shellfish allergy', 'coeliac (strict, separate prep)', 'diabetic — low sugar', 'egg allergy',
  'no alcohol', 'lactose intolerant', 'low FODMAP',
];

export const GUEST_GROUPS = ['family', 'friends', 'work', 'university', 'neighbours'];
export const GUEST_SIDES = ['partner-a', 'partner-b', 'both'];
export const GUEST_EXTRA_TAGS = ['vip', 'child', 'needs-accessibility', 'evening-only', 'speech'];
export const RELATIONSHIPS = ['cousin', 'aunt', 'uncle', 'university friend', 'colleague', 'neighbour', 'school friend', 'godparent', 'grandparent', 'sibling', 'family friend'];
export const INVITED_VIA = ['email', 'post', 'phone', 'in person'];
export const SONGS = ['La Vie en Rose', 'Dancing Queen', "Don't Stop Me Now", "Can't Help Falling in Love", 'Mr. Brightside', 'Galway Girl', 'September', 'Valerie', 'Despacito', 'Señorita'];
export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example', 'example.ie'];

/** Places on the wedding day; events at one place never overlap. */
export const TIMELINE_LOCATIONS = ['Bridal suite', 'Ceremony lawn', 'Reception hall', 'Kitchen', 'Front drive'];

/** In the order they happen on the day: an event early in the day gets a title early in the list. */
export const TIMELINE_TITLES = [
  'Kitchen prep', 'Hair & make-up', 'Chair set-up', 'Florist delivers bouquets', 'Photographer arrives',
  'Band sound check', 'Guests arrive', "Bride's entrance", 'Ceremony', 'Ring exchange',
  'Signing of the register', 'Confetti shot', 'Drinks reception', 'Canapés', 'Group photos',
  "Couple's portrait session", 'Wedding breakfast', 'Speeches', 'Toast — father of the bride', 'Cake cutting',
  'Evening guests arrive', 'First dance', 'Photo booth opens', 'Evening buffet', 'Fireworks',
  'Sparkler send-off', 'Last orders', 'Carriages', 'Taxis to the hotel', 'Venue clear-down',
];

export const TIMELINE_NOTES = [
  'Confirm with the venue coordinator',
  'Rain plan: move indoors',
  'Keep it to 10 minutes!',
  "DJ to play the couple's song",
  "Don't forget the rings",
  'Needs two extension leads',
];

export const PHOTO_CAPTIONS = [
  'First dance — “La Vie en Rose”', 'Confetti!', "The couple's first look", 'Grandma Núñez dancing',
  'Cake cutting', "Speeches — there wasn't a dry eye", 'Sunset portraits at Château de la Mer',
  'Table 4 having fun', 'The rings', 'Bouquet toss',
];
