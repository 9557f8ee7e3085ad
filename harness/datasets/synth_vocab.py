"""The synthetic generator's vocabulary and sentence patterns (the project's own wording).

`SYNTH_FINDINGS` maps a canonical clinical finding to the colloquial ways patients say it, so
that the scorer's synonym dictionaries have real work to do and can be tested against it.
"""

from __future__ import annotations

SYNTH_FINDINGS: dict[str, list[str]] = {
    "发热": ["发烧", "体温高"],
    "腹泻": ["拉肚子", "拉稀"],
    "食欲减退": ["没胃口", "吃不下饭"],
    "咳嗽": ["咳", "干咳"],
    "咳痰": ["有痰", "吐痰"],
    "流涕": ["流鼻涕", "鼻涕多"],
    "鼻塞": ["鼻子堵", "鼻子不通气"],
    "咽痛": ["嗓子疼", "喉咙痛"],
    "头痛": ["头疼", "脑袋疼"],
    "头晕": ["头昏", "晕乎乎"],
    "呕吐": ["吐", "呕"],
    "恶心": ["想吐", "反胃"],
    "腹痛": ["肚子疼", "肚子痛"],
    "腹胀": ["肚子胀", "胀气"],
    "便秘": ["大便干", "拉不出来"],
    "乏力": ["没力气", "浑身没劲"],
    "失眠": ["睡不着", "睡不好"],
    "皮疹": ["起疹子", "出疹子"],
    "瘙痒": ["痒", "发痒"],
    "胸闷": ["胸口闷", "憋气"],
    "心悸": ["心慌", "心跳快"],
    "气短": ["喘不上气", "气不够用"],
    "喘息": ["喘", "呼哧呼哧"],
    "盗汗": ["晚上出汗", "夜里出汗"],
    "多汗": ["爱出汗", "出汗多"],
    "尿频": ["老想尿尿", "小便次数多"],
    "尿痛": ["尿尿疼", "小便痛"],
    "腰痛": ["腰疼", "腰酸"],
    "关节痛": ["关节疼", "骨头疼"],
    "肌肉酸痛": ["身上酸疼", "浑身酸痛"],
    "耳鸣": ["耳朵嗡嗡响", "耳朵响"],
    "视物模糊": ["看东西模糊", "眼睛花"],
    "眼睛干涩": ["眼干", "眼睛涩"],
    "口干": ["嘴干", "口渴"],
    "口腔溃疡": ["嘴里起泡", "口疮"],
    "牙痛": ["牙疼", "牙齿疼"],
    "打喷嚏": ["喷嚏", "老打喷嚏"],
    "水肿": ["浮肿", "肿"],
    "黄疸": ["皮肤发黄", "眼睛发黄"],
    "便血": ["大便带血", "拉血"],
    "血尿": ["尿里有血", "尿血"],
    "消瘦": ["瘦了", "体重下降"],
    "畏寒": ["怕冷", "发冷"],
    "抽搐": ["抽筋", "抽风"],
    "手脚冰凉": ["手脚凉", "手脚发冷"],
    "鼻出血": ["流鼻血", "鼻子出血"],
    "烦躁": ["闹人", "脾气大"],
    "嗜睡": ["老想睡", "犯困"],
}

# Dialogue patterns per CHIP short label. "{x}" is the finding as said; "\n" separates turns.
# A leading "!" marks a pattern where a form that carries its own negation (没胃口, 睡不着)
# still reads naturally; the others get a plain form, so "没有没胃口" never appears.
PATTERNS: dict[str, list[str]] = {
    "阳性": [
        "!患者：这两天{x}，挺难受的",
        "!患者：最近总是{x}",
        "医生：有{x}吗？\n患者：有，好几天了",
        "!患者：孩子昨天开始{x}",
        "!患者：{x}有一周了，怎么办",
        "医生：{x}严重吗？\n患者：挺严重的",
    ],
    "阴性": [
        "医生：有{x}吗？\n患者：没有",
        "患者：没有{x}",
        "患者：现在不{x}了",
        "医生：好的，记一下，否认{x}",
        "患者：我否认有{x}",
        "患者：{x}倒是没有",
    ],
    "其他": [
        "医生：有{x}吗？\n患者：不清楚",
        "患者：可能有点{x}，不太确定",
        "患者：说不好是不是{x}",
        "医生：会{x}吗？\n患者：说不好",
        "患者：不知道算不算{x}",
    ],
    "不标注": [
        "!患者：我妈以前也{x}",
        "!患者：孩子他爸前阵子{x}",
        "!患者：去年{x}过，早就好了",
        "医生：{x}一般是受凉引起的",
        "!患者：邻居家小孩也{x}",
    ],
}
# Weights out of 20: every label shows up often, positive most (as in the real data).
LABEL_TABLE: list[str] = ["阳性"] * 8 + ["阴性"] * 5 + ["其他"] * 3 + ["不标注"] * 4

OPENERS: list[str] = ["患者：医生你好", "患者：大夫好，想咨询一下", "患者：你好"]
CLOSERS: list[str] = ["医生：多喝水，注意休息", "医生：建议去医院看看", "医生：先观察两天"]
HISTORY_FILLERS: list[str] = [
    "医生：你好",
    "患者：你好",
    "医生：孩子多大了？",
    "患者：三岁",
    "医生：多久了？",
]

# IMCS-V2-SR current-turn phrases (one clause each) per IMCS label index (see IMCS_SR_CHOICES).
IMCS_PHRASES: dict[int, list[str]] = {
    1: ["有点{x}", "一直{x}", "还是{x}"],
    0: ["没有{x}", "不{x}了"],
    2: ["不清楚有没有{x}", "说不好是不是{x}"],
}
IMCS_LABEL_TABLE: list[int] = [1] * 5 + [0] * 3 + [2] * 2

# CMeEE-V2-style NER vocabulary (clinical findings come from SYNTH_FINDINGS' canonical names).
NER_VOCAB: dict[str, list[str]] = {
    "疾病": ["感冒", "肺炎", "支气管炎", "胃炎", "高血压", "糖尿病", "哮喘", "鼻炎", "肠炎", "中耳炎"],
    "药物": ["布洛芬", "阿莫西林", "对乙酰氨基酚", "蒙脱石散", "头孢克洛", "奥美拉唑", "氯雷他定"],
    "身体部位": ["胃", "肺", "咽喉", "皮肤", "关节", "肠道", "鼻腔", "耳朵", "肝脏"],
}
NER_TYPES: list[str] = ["临床表现", "疾病", "药物", "身体部位"]
# Sentence patterns: slots {临床表现}, {疾病}, {药物}, {身体部位}; a slot may appear once.
NER_SENTENCES: list[str] = [
    "{疾病}患者常出现{临床表现}，可服用{药物}缓解。",
    "{临床表现}多见于{疾病}，病变多在{身体部位}。",
    "{药物}可用于治疗{疾病}引起的{临床表现}。",
    "{身体部位}受累时可伴有{临床表现}。",
    "儿童{疾病}的早期表现是{临床表现}。",
    "服用{药物}后少数人出现{临床表现}。",
]
